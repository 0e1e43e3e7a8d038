"""Where replies come from: offline replies and any OpenAI-compatible server."""
