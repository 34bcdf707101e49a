"""Pictures of trees: the terminal view, figures and the HTML page."""
