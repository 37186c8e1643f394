// The receipt's print button. Pages work without it: Ctrl+P prints the same.
(function () {
  document.documentElement.className += ' js';
  var b = document.getElementById('print');
  if (b) { b.onclick = function () { window.print(); return false; }; }
})();
