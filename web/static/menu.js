// Samling: the header's menu on a narrow screen. Without this script the menu's links simply
// show (the button stays hidden); with it, the menu folds behind the button, which opens it
// by mouse or keyboard and says so with aria-expanded; Escape closes it again.
(function () {
  'use strict';

  var toggle = document.querySelector('.menu-toggle');
  var menu = toggle && document.getElementById(toggle.getAttribute('aria-controls'));
  if (!menu) return;
  var header = toggle.closest('.site-header');

  function setOpen(open) {
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    menu.classList.toggle('is-open', open);
  }

  toggle.addEventListener('click', function () {
    setOpen(toggle.getAttribute('aria-expanded') !== 'true');
  });
  header.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape' || toggle.getAttribute('aria-expanded') !== 'true') return;
    if (getComputedStyle(toggle).display === 'none') return;
    setOpen(false);
    toggle.focus();
  });
  setOpen(false);
  header.classList.add('menu-ready');
})();
