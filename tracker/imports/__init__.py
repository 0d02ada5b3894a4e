"""`python -m tracker import FILE --site SITE`: past events from CSV or JSONL, straight into ClickHouse."""
