# Deployment checks, all offline: `make helm-check`. Included by the root Makefile.
# Also `make dockerfile-check`: BuildKit's Dockerfile lint, built from deploy/tools.
# helm is built from source with the Go toolchain (pinned; cached in .cache/infra/bin); the
# ldflags match the release build so that helm assumes the same Kubernetes version by default.
HELM_VERSION := v3.22.0
HELM_K8S_MINOR := 37
HELM := .cache/infra/bin/helm
HELM_STAMP := .cache/infra/bin/.helm-$(HELM_VERSION)
HELM_CHART := deploy/helm/integrations
HELM_PROD_VALUES := deploy/helm/examples/values-production.yaml
# The Kubernetes version the rendered manifests are validated against (schemas ship with
# kubernetes-validate, so no network is needed).
HELM_KUBE_VERSION := 1.33.0
HELM_LDFLAGS := -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR) \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR)

DOCKERFILE_CHECK := .cache/infra/bin/dockerfile-check
DOCKERFILE_CHECK_SRC := deploy/tools/dockerfile-check

.PHONY: helm helm-check dockerfile-check

helm: ## Build the pinned helm into .cache/infra/bin (needs Go; once, then cached).
	@if [ ! -x $(HELM) ] || [ ! -f $(HELM_STAMP) ]; then \
	  mkdir -p $(dir $(HELM)) && rm -f $(dir $(HELM)).helm-* && \
	  echo "building helm $(HELM_VERSION) with go install" && \
	  GOBIN=$(abspath $(dir $(HELM))) GOFLAGS=-buildvcs=false \
	    go install -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) && \
	  touch $(HELM_STAMP); \
	fi

$(DOCKERFILE_CHECK): $(DOCKERFILE_CHECK_SRC)/main.go $(DOCKERFILE_CHECK_SRC)/go.mod $(DOCKERFILE_CHECK_SRC)/go.sum
	@mkdir -p $(dir $@)
	cd $(DOCKERFILE_CHECK_SRC) && GOFLAGS=-buildvcs=false go build -o $(abspath $@) .

dockerfile-check: $(DOCKERFILE_CHECK) ## Lint deploy/docker/Dockerfile offline with BuildKit's checks.
	$(DOCKERFILE_CHECK) deploy/docker/Dockerfile

helm-check: install helm dockerfile-check ## Lint, render and validate the Helm chart offline; yamllint; the chart tests.
	$(HELM) lint --strict --kube-version $(HELM_KUBE_VERSION) $(HELM_CHART)
	$(HELM) lint --strict --kube-version $(HELM_KUBE_VERSION) -f $(HELM_PROD_VALUES) $(HELM_CHART)
	$(HELM) template integrations $(HELM_CHART) --kube-version $(HELM_KUBE_VERSION) \
	  | .venv/bin/kubernetes-validate --strict --quiet -k $(HELM_KUBE_VERSION) -
	$(HELM) template integrations $(HELM_CHART) --kube-version $(HELM_KUBE_VERSION) -f $(HELM_PROD_VALUES) \
	  | .venv/bin/kubernetes-validate --strict --quiet -k $(HELM_KUBE_VERSION) -
	.venv/bin/yamllint --strict -c deploy/yamllint.yaml deploy
	.venv/bin/pytest -q -m unit tests/deploy
