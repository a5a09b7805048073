"""Commands beside the stages: what a person runs by hand."""
