// The theme is set before the first paint, so a light-theme reader never sees a dark flash. A file,
// not an inline script: the Content-Security-Policy allows scripts from the page's origin only.
(function () {
  var saved = localStorage.getItem('aomi.theme');
  var dark = saved ? saved === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
})();
