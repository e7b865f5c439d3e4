# Make targets of the api service (included by the root Makefile).
.PHONY: token

token: install ## Print a development JWT as the last line: make token STORE_ID=... ORG_ID=...
	@set -a; if [ -f .run/secrets.env ]; then source .run/secrets.env; fi; set +a; \
	.venv/bin/python -m integrations_api.auth.dev_token \
		$(if $(STORE_ID),--store-id "$(STORE_ID)") $(if $(ORG_ID),--org-id "$(ORG_ID)")
