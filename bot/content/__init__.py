"""Loading and querying the staff-edited content: campaign, events, hotlines, provinces, FAQ."""
