PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_TOOLS := freeradius freeradius-utils tshark tcpdump xl2tpd l2tpns iputils-ping iproute2 tmux
TOOL_BINARIES := freeradius radclient tshark tcpdump xl2tpd l2tpns ping ip tmux

.PHONY: demo test bench venv debian-tools clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

venv: $(BIN)/python
	$(BIN)/pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(BIN)/pip install -q -e '.[test]'

debian-tools:
	@missing=""; for t in $(TOOL_BINARIES); do command -v $$t >/dev/null 2>&1 || [ -x /usr/sbin/$$t ] || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian tools (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TOOLS) >/dev/null; \
	  else echo "not root: tests that need$$missing will skip"; fi; \
	fi

demo: venv
	$(BIN)/jcli --lab sample-configs/lab.toml --config sample-configs/lab.scr

test: venv debian-tools
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: venv
	@for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
