"""The MongoDB store the API and the log writer share: client helpers, the stored integrations
and their health, the attempt log and job documents, and the config publisher."""
