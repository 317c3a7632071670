"""The Django app's management commands (Django is imported only here and in ``apps``)."""
