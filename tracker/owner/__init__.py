"""The shop owner's pages at /app: sign-in, the per-site dashboard, the CSV download.

Apart from tracker/http/ (the APIs) because they are a product of their own that grows: every
figure still comes from the query API's code path (tracker/http/query.py execute())."""
