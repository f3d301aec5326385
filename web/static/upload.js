// Samling: sends the resource form with a progress bar. Without this script the form posts
// as usual; with it, the same request goes through XMLHttpRequest so the upload's progress
// shows; then the library opens at the new resource, or the server's error shows above the form.
(function () {
  'use strict';

  var form = document.getElementById('upload-form');
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var box = document.getElementById('upload-progress');
  var bar = document.getElementById('upload-progress-bar');
  var status = document.getElementById('upload-status');

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var button = form.querySelector('button[type="submit"]');
    var request = new XMLHttpRequest();
    request.open('POST', form.action);
    request.upload.addEventListener('progress', function (progress) {
      if (!progress.lengthComputable) return;
      var percent = Math.round((progress.loaded / progress.total) * 100);
      bar.value = percent;
      status.textContent = status.dataset.sending.replace('{percent}', String(percent));
    });
    request.addEventListener('load', function () {
      if (request.status < 400) {
        // The redirect's #fragment does not reach XMLHttpRequest; the query names the resource.
        var posted = new URL(request.responseURL).searchParams.get('posted');
        window.location.assign(request.responseURL + (posted ? '#resource-' + posted : ''));
        return;
      }
      // The server's own message (the alert it renders without the script), put above the form.
      var answered = new DOMParser().parseFromString(request.responseText, 'text/html');
      var message = answered.getElementById('upload-error');
      var shown = document.getElementById('upload-error');
      if (shown) shown.remove();
      if (!message) {
        message = document.createElement('div');
        message.className = 'alert alert-error';
        message.setAttribute('role', 'alert');
        message.id = 'upload-error';
        message.textContent = status.dataset.failed;
      }
      form.parentNode.insertBefore(document.importNode(message, true), form);
      box.hidden = true;
      status.textContent = '';
      button.disabled = false;
    });
    request.addEventListener('error', function () {
      status.textContent = status.dataset.failed;
      button.disabled = false;
    });
    box.hidden = false;
    bar.value = 0;
    button.disabled = true;
    request.send(new FormData(form));
  });
})();
