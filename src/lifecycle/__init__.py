"""A reproducible machine-learning lifecycle, one DVC stage per phase."""
