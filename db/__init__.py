"""Database access: connections, migrations and the small query modules shared by all parts."""
