// Case page tools: a saved reply is inserted into the reply box with one tap, never sent by itself.
(function () {
  "use strict";

  const box = document.querySelector("[data-reply-box]");
  const list = document.querySelector("[data-saved-replies]");
  if (!box || !list) { return; }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-saved-reply]");
    if (!button) { return; }
    event.preventDefault();
    const text = button.dataset.text || "";
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    const before = box.value.slice(0, start);
    const glue = before && !/\s$/.test(before) ? "\n" : "";
    box.value = before + glue + text + box.value.slice(end);
    const caret = (before + glue + text).length;
    box.focus();
    box.setSelectionRange(caret, caret);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
