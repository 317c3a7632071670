"""``cleanup_temp``, ``resources``, ``monitor_report`` and ``organize_clips``."""
