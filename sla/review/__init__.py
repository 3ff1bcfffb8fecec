"""The joint review: one weekly meeting pack for marketing and sales (docs/review.md).

`periods` names the period reviewed, `sections` computes every section from the metric
catalogue, `decisions` records and closes the meeting's decisions, and `digest` sends the
summary once per period through the outbox."""
