"""Small widgets shared by the pages: plots, the estimate card, token views."""
