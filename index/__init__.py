"""The index: embedding, the Chroma collections, the BM25 index, hybrid retrieval and
fusion, the manifest (SQLite), the writer lock, sync and watch.

May import ingest/; never app/ or eval/.
"""
