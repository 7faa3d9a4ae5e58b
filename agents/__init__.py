"""The agents, one package each with the same shape (``handler``, its logic, ``__main__``), and
``lib``, what they share. ``python -m gaai.agents.<name>`` runs one.
"""
