"""The rule table: hand-written primitives, grouped by kind."""
