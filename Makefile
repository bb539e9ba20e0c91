PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian package:binary it provides (the binary is how `debian-tools` sees the package is there)
DEBIAN_TOOLS := freeradius:freeradius freeradius-utils:radclient tshark:tshark tcpdump:tcpdump \
	xl2tpd:xl2tpd l2tpns:l2tpns iputils-ping:ping iproute2:ip tmux:tmux \
	openssh-client:ssh openssh-server:sshd sshpass:sshpass telnet:telnet
# 1 (default; the tree is clean under both): a ruff or mypy finding fails `make test`;
# 0: findings are reported and the tests still run
LINT_STRICT ?= 1
PYTEST_FLAGS := -q -rs -p no:cacheprovider

.PHONY: demo test lint typecheck bench venv debian-tools clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

venv: $(BIN)/python
	$(BIN)/pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(BIN)/pip install -q -e '.[test]'

debian-tools:
	@missing=""; for pair in $(DEBIAN_TOOLS); do pkg=$${pair%%:*}; bin=$${pair#*:}; \
	  command -v $$bin >/dev/null 2>&1 || [ -x /usr/sbin/$$bin ] || [ -x /sbin/$$bin ] \
	  || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	    for pair in $(DEBIAN_TOOLS); do bin=$${pair#*:}; \
	      command -v $$bin >/dev/null 2>&1 || [ -x /usr/sbin/$$bin ] || [ -x /sbin/$$bin ] \
	      || { echo "still missing after install: $$bin ($${pair%%:*})"; exit 1; }; done; \
	  else echo "not root: tests that need$$missing will skip (reasons printed)"; fi; \
	fi

demo: venv
	$(BIN)/jcli --lab sample-configs/lab.toml --config sample-configs/lab.scr

lint: venv
	@$(BIN)/ruff check . || { [ "$(LINT_STRICT)" = 0 ] && echo "ruff: findings above (LINT_STRICT=0: not failing)"; }

typecheck: venv
	@$(BIN)/mypy || { [ "$(LINT_STRICT)" = 0 ] && echo "mypy: findings above (LINT_STRICT=0: not failing)"; }

test: venv debian-tools lint typecheck
	$(BIN)/python -m pytest $(PYTEST_FLAGS) $(PYTEST_ARGS)

bench: venv
	@for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
