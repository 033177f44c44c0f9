"""The MCP server for AI assistants: a door above tasks, like the web app."""
