"""The knowledge base as files and as an index, shared by ingest (which writes) and the bot (which reads).

Reading knowledge files (sources, documents, metadata sidecars, the decision table, the limits on what a
file may cost) and the vector index (store, embedder, the BM25 index, the ingest summary). Imports
common only; never bot or ingest.
"""
