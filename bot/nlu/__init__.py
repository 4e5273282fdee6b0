"""Custom Rasa NLU components: Vietnamese normalising tokenizer and triage override."""
