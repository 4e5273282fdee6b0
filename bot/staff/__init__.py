"""Staff tools: content editing, spreadsheets, checks, safe training, deploy and the review queue."""
