#!/usr/bin/env python3
"""Reference chat-template renders from transformers' apply_chat_template (real Jinja).

Writes tests/model/data/chat_template_ref.json: for each template family longkv recognises
(the Llama 3 and Qwen3 templates shipped in ../shared/models, and the published Llama 3
Instruct, ChatML, Qwen2.5, Mistral Instruct v0.1 and Llama 2 chat templates), a set of
conversations rendered with and without add_generation_prompt, or "error" where the
template raises. tests/model/chat_template_test.cpp renders the same with longkv.

  python3 tools/chat_template_fixtures.py [--shared ../shared/models] [--out PATH]
"""
import argparse
import json
import os

LLAMA3_INSTRUCT = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim"
    " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant"
    "<|end_header_id|>\n\n' }}{% endif %}")
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n'"
    " }}{% endif %}")
QWEN25 = (
    "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content']"
    " + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba "
    "Cloud. You are a helpful assistant.<|im_end|>\n' }}{%- endif %}{%- for message in messages %}"
    "{%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or "
    "(message.role == \"assistant\") %}{{- '<|im_start|>' + message.role + '\n' + message.content +"
    " '<|im_end|>' + '\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- "
    "'<|im_start|>assistant\n' }}{%- endif %}")
MISTRAL = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
    "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant "
    "roles are supported!') }}{% endif %}{% endfor %}")
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set "
    "system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set "
    "system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] "
    "== 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != "
    "false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + "
    "message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if "
    "message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif"
    " message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}")

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"},
     {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}],
    [{"role": "user", "content": "  padded  question \n"},
     {"role": "assistant", "content": "\n spaced answer  "}, {"role": "user", "content": "ok"}],
    [{"role": "user", "content": "q1"},
     {"role": "assistant", "content": "<think>\nreason one\n</think>\n\nanswer one"},
     {"role": "user", "content": "q2"},
     {"role": "assistant", "content": "<think>\nreason two\n</think>\n\nanswer two"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, 世界 🤗"}],
    [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared", "models"))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "model", "data",
                                                  "chat_template_ref.json"))
    a = ap.parse_args()
    import transformers
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer

    def shipped(name):
        with open(os.path.join(a.shared, "tokenizers", name, "tokenizer_config.json")) as f:
            return json.load(f)["chat_template"]

    templates = [
        ("llama3 (shared/tokenizers/llama3)", shipped("llama3"), "<|begin_of_text|>", "<|end_of_text|>"),
        ("llama3 instruct", LLAMA3_INSTRUCT, "<|begin_of_text|>", "<|eot_id|>"),
        ("qwen3 (shared/tokenizers/qwen3)", shipped("qwen3"), "", "<|im_end|>"),
        ("chatml", CHATML, "", "<|im_end|>"),
        ("qwen2.5", QWEN25, "", "<|im_end|>"),
        ("mistral instruct v0.1", MISTRAL, "<s>", "</s>"),
        ("llama2 chat", LLAMA2, "<s>", "</s>"),
    ]
    base = Tokenizer.from_file(os.path.join(a.shared, "stories260K-hf", "tokenizer.json"))
    out = {"generator": f"tools/chat_template_fixtures.py (transformers {transformers.__version__})",
           "templates": []}
    for name, tmpl, bos, eos in templates:
        tok = PreTrainedTokenizerFast(tokenizer_object=base, bos_token=bos or None,
                                      eos_token=eos or None)
        cases = []
        for conv in CONVERSATIONS:
            for gen in (True, False):
                case = {"messages": conv, "add_generation_prompt": gen}
                try:
                    case["text"] = tok.apply_chat_template(conv, tokenize=False,
                                                           add_generation_prompt=gen,
                                                           chat_template=tmpl)
                except Exception as e:  # the template's raise_exception
                    case["error"] = str(e)[:200]
                cases.append(case)
        out["templates"].append({"name": name, "template": tmpl, "bos": bos, "eos": eos,
                                 "cases": cases})
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
