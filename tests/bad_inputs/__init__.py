"""The bad-input catalogue (issue 11): one module per reader, and the readers' fuzz."""
