"""Use cases: each service takes the store and the clock, applies the rules, returns results."""
