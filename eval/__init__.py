"""The evaluation suite (``gaai eval``): graphs with known answers run through the real workflow,
scored against networkx and the planted truth. See docs/EVALUATION.md."""
