// Copy buttons: a button with data-copy="ID" copies that element's text (shown only where the clipboard works).
(function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copy).textContent;
      navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select and copy the text"; });
    });
  });
})();
