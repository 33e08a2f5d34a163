"""The job queue (Huey), the tasks it runs, and the reaper that finds lost jobs."""
