"""The counselor desk: case API, notifications and the web console."""
