"""Authentication: bearer JWTs whose `store_id` / `org_id` claims name the tenant."""
