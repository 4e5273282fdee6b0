# Vietnamese Action Month assistant. `make run` to start everything, `make test` to check everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10: python3.10 on PATH, else the newest pyenv 3.10.x.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
# (A pyenv shim on PATH may exist without working, so each candidate is tried.)
PYTHON310 ?= $(shell for p in $$(command -v python3.10 2>/dev/null) $$(ls -d $(PYENV_ROOT)/versions/3.10.*/bin/python3.10 2>/dev/null | sort -rV); do \
  "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/current.tar.gz

export PYTHONPATH := $(CURDIR)
export ACTION_ENDPOINT_URL ?= http://127.0.0.1:5055/webhook
export TRACKER_SQLITE_PATH ?= var/tracker.db
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore

TRAIN_INPUTS := config.yml bot/text.py $(shell find domain data content/faq bot/nlu -type f -not -name '*.pyc' 2>/dev/null)

.PHONY: help install run run-scaled test lint validate train content eval eval-faq bench clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements.lock
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is required (Rasa 3.6 does not run on 3.11)."; \
	  echo "Install it with 'pyenv install 3.10' or your package manager, so that python3.10 is on PATH."; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON310)"
	$(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	$(PY) -m pip install -q -r requirements.txt -c requirements.lock
	touch $@

install: $(VENV)/.installed ## Create .venv with the pinned dependencies

content: $(VENV)/.installed ## Regenerate the FAQ training data and responses from content/faq/
	$(PY) -m bot content build

# The model in service is only ever replaced through the gated pipeline (bot/staff/pipeline.py):
# content checks, validation, training a candidate, held-out evaluation, regression gate, promotion.
# If a candidate is refused while a model is in service, that model keeps running.
$(MODEL): $(VENV)/.installed $(TRAIN_INPUTS)
	@install -d -m 700 var
	@$(PY) -m bot model train || { test -f $(MODEL) && \
	  echo "The new model was refused; the model in service stays. See var/reports/training-report.md."; }

train: $(VENV)/.installed ## Safe pipeline: checks, validate, train, held-out gate, report (var/reports/, git-ignored)
	$(PY) -m bot model train

# Local runs report under var/reports/ so the tree stays clean; this publishes the latest ones on purpose.
.PHONY: publish-report
publish-report: $(MODEL) ## Copy the latest training report into docs/reports/ and write docs/eval-report.md
	@test -f var/reports/training-report.md || { echo "No training report in var/reports yet: run 'make train' first."; exit 1; }
	cp var/reports/training-report.md var/reports/training-report.html var/reports/history.csv docs/reports/
	cp var/reports/*.png docs/reports/
	$(PY) scripts/eval.py --model $(MODEL) --data tests/eval/heldout.yml --out docs/eval-report.md

# Every service listens on 127.0.0.1 (BIND_HOST, or RASA_HOST / ACTION_HOST / DESK_HOST, opens one for a proxy);
# var/ holds case text, password hashes and platform tokens: 0700, and the services create their files 0600.
run: $(MODEL) ## Start Rasa (127.0.0.1:5005), the action server (:5055) and the desk (:8080)
	@install -d -m 700 var && chmod 700 var
	@$(PY) scripts/ensure_env.py
	$(VENV)/bin/honcho start -f Procfile

run-scaled: $(MODEL) ## The scaled layout here: local PostgreSQL and Redis, Rasa with 2 workers (docs/deploy.md)
	@install -d -m 700 var && chmod 700 var
	@$(PY) scripts/ensure_env.py
	$(PY) -m scripts.run_scaled

lint: $(VENV)/.installed ## Static checks
	$(VENV)/bin/ruff check bot actions tests scripts

validate: $(VENV)/.installed ## rasa data validate, failing on warnings
	$(PY) -m bot content check-built
	$(RASA) data validate --domain domain --fail-on-warnings

test: lint validate $(MODEL) ## Everything the project checks
	$(PY) -m pytest -q
	$(RASA) test core --e2e --stories tests/stories --model $(MODEL) --fail-on-prediction-errors --out results/core

eval: $(MODEL) ## Held-out evaluation: intents and triage (writes var/reports/eval-report.md)
	@mkdir -p var/reports
	$(PY) scripts/eval.py --model $(MODEL) --data tests/eval/heldout.yml --out var/reports/eval-report.md

eval-faq: $(MODEL) ## FAQ held-out questions: right facts, wrong answers, "not sure" (writes var/reports/faq-eval.md)
	@mkdir -p var/reports
	$(PY) -m bot.staff.eval_faq --model $(MODEL) --data tests/eval/faq_heldout.yml --out var/reports/faq-eval.md

bench: $(MODEL) ## Throughput against a stock Rasa bot (20 senders), the Zalo path, urgent message → card, the queue page, a broadcast
	$(PY) -m scripts.bench_throughput --model $(MODEL) --senders 20 --turns 15 --rounds 2 --out results/throughput.json
	$(PY) scripts/bench.py --model $(MODEL) --cases 200 --chatters 20 --queue-cases 5000 --broadcast-recipients 10000 --out results/bench.json

.PHONY: screenshots
screenshots: $(VENV)/.installed ## Console screenshots (phone and desktop) from the browser test into docs/images/
	rm -f results/screenshots/desk-*.png
	$(PY) -m pytest -q tests/desk/test_desk_browser.py -k fits
	@ls results/screenshots/desk-*.png >/dev/null 2>&1 || { echo "no screenshots (is chromium installed?)"; exit 1; }
	mkdir -p docs/images
	cp results/screenshots/desk-*.png docs/images/

.PHONY: create-account
create-account: $(VENV)/.installed ## Console account: make create-account ACCOUNT=lan ROLE=counselor|supervisor|staff [NAME="Chị Lan"] [TELEGRAM_ID=123]
	@test -n "$(ACCOUNT)" -a -n "$(ROLE)" || { echo "usage: make create-account ACCOUNT=<username> ROLE=counselor|supervisor|staff"; exit 2; }
	$(PY) -m bot.desk create-account "$(ACCOUNT)" --role "$(ROLE)" $(if $(NAME),--name "$(NAME)") $(if $(TELEGRAM_ID),--telegram-id $(TELEGRAM_ID))

clean: ## Remove models, results and local data
	rm -rf models results var

# Staff tools (bot/staff, docs/staff-guide.md)
.PHONY: deploy-model review content-check export import
deploy-model: $(VENV)/.installed ## Load the accepted model into the running Rasa; rolls back if it does not answer
	$(PY) -m bot model deploy

review: $(VENV)/.installed ## Messages the bot could not answer, waiting for staff
	$(PY) -m bot review list

content-check: $(VENV)/.installed ## Check the content: duplicates, sources, review dates, phone numbers
	$(PY) -m bot content check

export: $(VENV)/.installed ## Export FAQ, events and hotlines to var/noi-dung.xlsx for Excel
	$(PY) -m bot content export $(FILE)

import: $(VENV)/.installed ## Import var/noi-dung.xlsx (or FILE=...); writes nothing unless every row is valid
	$(PY) -m bot content import $(FILE)
