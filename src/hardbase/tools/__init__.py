"""Outside tools, one small module each, called with their errors turned into ToolError."""
