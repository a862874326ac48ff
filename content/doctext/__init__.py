"""Text of documents linked from a site (PDF, DOCX, ODT, plain text), with headings and, for
PDFs, where each page starts. Pure functions of the bytes; `pipelines.documents` runs them."""

from content.doctext.extract import extract_document
from content.doctext.model import DocumentError, DocumentText, sniff_format

__all__ = ["DocumentError", "DocumentText", "extract_document", "sniff_format"]
