"""Knowledge files -> chunks -> embeddings -> vector store; incremental and atomic."""
