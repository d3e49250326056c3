"""Language-model backends behind one `Generator` protocol (`backends`: the packaged model
in-process with llama.cpp, any GGUF file, any OpenAI-compatible server) and the packaged
model file (`model_file`). Knows nothing of citations.

May import ingest/ (errors) and app.config; never app.answer or app.web.
"""
