"""The content layer: pure text logic both the crawl (pipelines/, crawlers/) and the workers use:
decoding, page text, main content, page types and structure, site templates, volatile
masking, fingerprints, document text, chunking and tokens. No I/O: nothing here reads the
database, the network or the settings."""
