;; trap.wat: a rule written by hand in WebAssembly text (ABI version 1).
;; It traps (unreachable) when the text contains "boom" and reports nothing
;; otherwise: the test rule for failure actions and the circuit breaker, and
;; the cheapest possible rule for measuring the host's own overhead.
;;
;; There is no wat2wasm in the build: wat_test.go assembles the same
;; instructions byte for byte (trapModule) and checks that the exports below
;; and the behaviour match.
(module
  (memory (export "memory") 1)

  (func (export "llmfw_abi_version") (result i32)
    i32.const 1)

  ;; One input buffer at 1024, grown to fit the request; 0 when it cannot
  ;; grow (the host counts a memory failure).
  (func (export "llmfw_alloc") (param $n i32) (result i32)
    (local $pages i32)
    local.get $n
    i32.const 0x40000000
    i32.gt_u
    if
      i32.const 0
      return
    end
    local.get $n
    i32.const 66559          ;; 1024 + 65535: round up to whole pages
    i32.add
    i32.const 16
    i32.shr_u
    local.tee $pages
    memory.size
    i32.gt_u
    if
      local.get $pages
      memory.size
      i32.sub
      memory.grow
      i32.const -1
      i32.eq
      if
        i32.const 0
        return
      end
    end
    i32.const 1024)

  ;; The text starts after the 36-byte header and the role, provenance and
  ;; route strings, whose lengths are at offsets 20, 24 and 28.
  (func (export "llmfw_detect") (param $p i32) (param $n i32) (result i64)
    (local $i i32) (local $end i32)
    local.get $p
    i32.const 36
    i32.add
    local.get $p
    i32.load offset=20
    i32.add
    local.get $p
    i32.load offset=24
    i32.add
    local.get $p
    i32.load offset=28
    i32.add
    local.set $i
    local.get $p
    local.get $n
    i32.add
    local.set $end
    block
      loop
        local.get $i
        i32.const 4
        i32.add
        local.get $end
        i32.gt_u
        br_if 1
        local.get $i
        i32.load align=1
        i32.const 0x6d6f6f62   ;; "boom", little-endian
        i32.eq
        if
          unreachable
        end
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br 0
      end
    end
    i64.const 0))
