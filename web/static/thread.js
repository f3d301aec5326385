// Samling: keeps a thread page live over the websocket. The page works without this script
// (ordinary forms); with it, new and changed posts appear in place, replies are sent over the
// socket, and the reader sees who is here and who is writing.
(function () {
  'use strict';

  var root = document.getElementById('thread-page');
  if (!root || !('WebSocket' in window)) return;

  var data = root.dataset;
  var cohortId = Number(data.cohortId);
  var threadId = Number(data.threadId);
  var userId = Number(data.userId);
  var lastSeq = Number(data.lastSeq) || 0;
  var answeredPostId = data.answeredPostId ? Number(data.answeredPostId) : null;
  var mayWrite = data.mayWrite === 'true';
  var mayMarkAnswer = data.mayMarkAnswer === 'true';
  var mayReport = data.mayReport === 'true';
  /** The reactions in their order: [{code, label}]. */
  var reactions = [];
  try {
    reactions = JSON.parse(data.reactionLabels || '[]');
  } catch (e) {
    reactions = [];
  }
  var reactionLabels = {};
  reactions.forEach(function (reaction) {
    reactionLabels[reaction.code] = reaction.label;
  });
  var locale = { nb: 'nb-NO', nn: 'nn-NO', en: 'en-GB' }[data.lang] || 'nb-NO';
  var timeFormat = new Intl.DateTimeFormat(locale, {
    timeZone: 'Europe/Oslo',
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });

  var posts = document.getElementById('posts');
  var statusEl = document.getElementById('live-status');
  var presenceEl = document.getElementById('presence');
  var announcer = document.getElementById('announcer');
  var typingEl = document.getElementById('typing');
  var badges = document.getElementById('thread-badges');
  var form = document.getElementById('reply-form');
  var lockedNotice = document.getElementById('locked-notice');
  var textarea = document.getElementById('reply-body');
  var errorEl = document.getElementById('reply-error');
  var actionError = document.getElementById('action-error');
  // The opening post is the question: it cannot be marked as its own answer.
  var firstPostId = posts.firstElementChild ? Number(posts.firstElementChild.dataset.postId) : null;

  /** A translated text with `{name}` placeholders filled in. */
  function t(key, args) {
    var text = data[key] || '';
    Object.keys(args || {}).forEach(function (name) {
      text = text.split('{' + name + '}').join(args[name]);
    });
    return text;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---------------------------------------------------------------------------------------
  // Rendering, the same markup as thread.html.

  function answerBadge() {
    return el('span', 'badge badge-answer', t('tAnswer'));
  }

  function renderPost(post) {
    var item = el('li', 'post');
    item.id = 'post-' + post.id;
    item.dataset.postId = String(post.id);
    if (answeredPostId === post.id) item.classList.add('post-answer');
    var article = el('article');
    article.setAttribute('aria-labelledby', 'post-' + post.id + '-meta');
    var meta = el('p', 'post-meta');
    meta.id = 'post-' + post.id + '-meta';
    meta.appendChild(el('strong', 'post-author', post.author));
    meta.appendChild(document.createTextNode(' · '));
    var time = el('time', null, timeFormat.format(new Date(post.created_at)));
    time.setAttribute('datetime', post.created_at);
    meta.appendChild(time);
    if (post.edited_at && !post.deleted && !post.hidden) {
      meta.appendChild(document.createTextNode(' · '));
      meta.appendChild(el('span', 'post-edited', t('tEdited')));
    }
    if (answeredPostId === post.id) {
      meta.appendChild(document.createTextNode(' '));
      meta.appendChild(answerBadge());
    }
    article.appendChild(meta);
    if (post.deleted) {
      article.appendChild(el('p', 'post-placeholder', t('tDeleted')));
    } else if (post.hidden) {
      article.appendChild(el('p', 'post-placeholder', t('tHidden')));
    } else {
      var body = el('div', 'prose post-body');
      // body_html is sanitised on the server (the same HTML the page renders).
      body.innerHTML = post.body_html;
      article.appendChild(body);
    }
    var changeable = !post.deleted && !post.hidden;
    if (mayWrite && changeable) {
      article.appendChild(reactionForm(post));
    } else if (post.reactions && post.reactions.length) {
      var list = el('ul', 'reactions');
      list.setAttribute('aria-label', t('tReactions'));
      post.reactions.forEach(function (reaction) {
        list.appendChild(el('li', null, (reactionLabels[reaction.reaction] || reaction.reaction) + ': ' + reaction.count));
      });
      article.appendChild(list);
    }
    if (changeable) article.appendChild(postActions(post));
    item.appendChild(article);
    return item;
  }

  function hiddenInput(name, value) {
    var input = el('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    return input;
  }

  function postForm(action, className) {
    var form = el('form', className);
    form.method = 'post';
    form.action = action;
    form.appendChild(hiddenInput('csrf_token', data.csrf));
    return form;
  }

  function reactionForm(post) {
    var form = postForm('/posts/' + post.id + '/reactions', 'reaction-form');
    form.setAttribute('aria-label', t('tReactions'));
    reactions.forEach(function (reaction) {
      var given = (post.reactions || []).filter(function (r) {
        return r.reaction === reaction.code;
      })[0];
      var count = given ? given.count : 0;
      var mine = given ? given.user_ids.indexOf(userId) >= 0 : false;
      var button = el('button', 'reaction', reaction.label);
      button.type = 'submit';
      button.name = mine ? 'remove' : 'add';
      button.value = reaction.code;
      button.setAttribute('aria-pressed', mine ? 'true' : 'false');
      if (count > 0) {
        button.appendChild(document.createTextNode(' '));
        button.appendChild(el('span', 'reaction-count', String(count)));
      }
      form.appendChild(button);
    });
    return form;
  }

  function answerForm(postId) {
    var form = postForm('/threads/' + threadId + '/answer', 'inline answer-form');
    form.dataset.postId = String(postId);
    var isAnswer = answeredPostId === postId;
    form.appendChild(hiddenInput('post_id', isAnswer ? '' : String(postId)));
    var button = el('button', 'secondary', isAnswer ? t('tUnmarkAnswer') : t('tMarkAnswer'));
    button.type = 'submit';
    form.appendChild(button);
    return form;
  }

  function postActions(post) {
    var actions = el('div', 'post-actions');
    if (mayMarkAnswer && post.id !== firstPostId) actions.appendChild(answerForm(post.id));
    var link = null;
    if (post.author_id === userId && mayWrite) {
      link = el('a', null, t('tEdit'));
      link.href = '/posts/' + post.id + '/edit';
    } else if (post.author_id !== userId && mayReport) {
      link = el('a', null, t('tReport'));
      link.href = '/posts/' + post.id + '/report';
    }
    if (link) actions.appendChild(link);
    return actions;
  }

  function showPost(post, isNew) {
    var existing = document.getElementById('post-' + post.id);
    if (existing) {
      existing.replaceWith(renderPost(post));
      return;
    }
    if (!isNew) return;
    posts.appendChild(renderPost(post));
    if (post.author_id !== userId) {
      announce(t('tNewPost', { name: post.author }));
    }
  }

  function setAnswer(postId) {
    answeredPostId = postId;
    Array.prototype.forEach.call(posts.querySelectorAll('.badge-answer'), function (badge) {
      var previous = badge.previousSibling;
      if (previous && previous.nodeType === 3 && previous.textContent === ' ') previous.remove();
      badge.remove();
    });
    Array.prototype.forEach.call(posts.querySelectorAll('.post-answer'), function (item) {
      item.classList.remove('post-answer');
    });
    Array.prototype.forEach.call(posts.querySelectorAll('.answer-form'), function (answer) {
      answer.replaceWith(answerForm(Number(answer.dataset.postId)));
    });
    if (postId === null) return;
    var item = document.getElementById('post-' + postId);
    var meta = document.getElementById('post-' + postId + '-meta');
    if (!item || !meta) return;
    item.classList.add('post-answer');
    meta.appendChild(document.createTextNode(' '));
    meta.appendChild(answerBadge());
  }

  function showThread(thread) {
    if (!thread || thread.id !== threadId) return;
    badges.textContent = '';
    var add = function (on, className, key) {
      if (!on) return;
      badges.appendChild(el('span', className, t(key)));
      badges.appendChild(document.createTextNode(' '));
    };
    add(thread.pinned, 'badge', 'tPinned');
    add(thread.locked, 'badge badge-locked', 'tLocked');
    add(thread.answered_post_id !== null && thread.answered_post_id !== undefined, 'badge badge-answered', 'tAnswered');
    var answer = thread.answered_post_id === undefined ? null : thread.answered_post_id;
    if (answer !== answeredPostId) setAnswer(answer);
    if (form) form.hidden = !!thread.locked;
    if (lockedNotice) lockedNotice.hidden = !thread.locked;
  }

  var announceTimer = null;
  function announce(text) {
    // Cleared first, so the same text twice is still announced.
    announcer.textContent = '';
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  function showError(message) {
    if (!errorEl) return;
    errorEl.textContent = message;
    errorEl.hidden = !message;
    if (textarea) {
      var described = (textarea.getAttribute('aria-describedby') || '').split(' ').filter(function (id) {
        return id && id !== 'reply-error';
      });
      if (message) described.push('reply-error');
      textarea.setAttribute('aria-describedby', described.join(' '));
      if (message) textarea.setAttribute('aria-invalid', 'true');
      else textarea.removeAttribute('aria-invalid');
    }
  }

  // ---------------------------------------------------------------------------------------
  // Presence and typing.

  // Who is here: a snapshot when subscribing and whenever it changes (at most once a second),
  // naming the first few people and counting the rest.
  function showPresence(message) {
    var people = message.people || [];
    var names = people
      .filter(function (person) {
        return person.user_id !== userId;
      })
      .map(function (person) {
        return person.name;
      });
    var unlisted = (message.count || 0) - people.length;
    if (unlisted > 0) names.push(t('tHereMore', { count: unlisted }));
    presenceEl.textContent = names.length ? t('tHereNow', { names: names.join(', ') }) : '';
    presenceEl.hidden = names.length === 0;
  }

  var typists = {};
  function showTyping() {
    var names = Object.keys(typists).map(function (id) {
      return typists[id].name;
    });
    typingEl.textContent = names
      .map(function (name) {
        return t('tTyping', { name: name });
      })
      .join(' ');
    typingEl.hidden = names.length === 0;
  }

  function someoneTyping(message) {
    if (message.thread_id !== threadId || message.user_id === userId) return;
    var key = String(message.user_id);
    if (typists[key]) clearTimeout(typists[key].timer);
    typists[key] = {
      name: message.name,
      timer: setTimeout(function () {
        delete typists[key];
        showTyping();
      }, 5000),
    };
    showTyping();
  }

  // ---------------------------------------------------------------------------------------
  // The socket.

  var socket = null;
  var open = false;
  var attempt = 0;
  var delays = [1000, 2000, 5000, 10000];
  /** The reply sent but not yet confirmed: sent again after a reconnect. */
  var pending = null;

  function setStatus(text, state) {
    statusEl.textContent = text;
    statusEl.dataset.state = state;
  }

  function send(message) {
    if (socket && open) socket.send(JSON.stringify(message));
  }

  function connect() {
    setStatus(attempt === 0 ? t('tConnecting') : t('tReconnecting'), attempt === 0 ? 'connecting' : 'reconnecting');
    var scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    try {
      socket = new WebSocket(scheme + '://' + location.host + '/api/v1/realtime');
    } catch (e) {
      retry();
      return;
    }
    socket.addEventListener('open', function () {
      open = true;
      send({ type: 'subscribe', cohort_id: cohortId, after: lastSeq });
    });
    socket.addEventListener('message', function (message) {
      var parsed;
      try {
        parsed = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      receive(parsed);
    });
    socket.addEventListener('close', function (event) {
      open = false;
      socket = null;
      // The session ended (4401: signed out or expired) or access was removed (4403): a new
      // connection would be refused too, so say so instead of retrying.
      if (event.code === 4401 || event.code === 4403) {
        setStatus(t(event.code === 4401 ? 'tSignedOut' : 'tAccessRemoved'), 'ended');
        presenceEl.hidden = true;
        return;
      }
      retry();
    });
  }

  function retry() {
    var wait = delays[Math.min(attempt, delays.length - 1)];
    attempt += 1;
    setStatus(t('tReconnecting'), 'reconnecting');
    presenceEl.hidden = true;
    setTimeout(connect, wait);
  }

  function receive(message) {
    switch (message.type) {
      case 'subscribed':
        if (message.cohort_id !== cohortId) return;
        attempt = 0;
        setStatus(t('tConnected'), 'connected');
        if (pending) send(pending);
        break;
      case 'event':
        if (message.cohort_id !== cohortId || message.seq <= lastSeq) return;
        lastSeq = message.seq;
        onEvent(message);
        break;
      case 'resync':
        if (message.cohort_id !== cohortId) return;
        lastSeq = Math.max(lastSeq, message.after);
        send({ type: 'subscribe', cohort_id: cohortId, after: lastSeq });
        break;
      case 'reload':
        if (message.cohort_id === cohortId) location.reload();
        break;
      case 'presence':
        if (message.cohort_id === cohortId) showPresence(message);
        break;
      case 'typing':
        someoneTyping(message);
        break;
      case 'posted':
        if (pending && message.client_id === pending.client_id) {
          pending = null;
          if (textarea) textarea.value = '';
          showError('');
          setSending(false);
        }
        break;
      case 'error':
        if (pending && message.client_id === pending.client_id) {
          pending = null;
          setSending(false);
          showError(message.message);
        }
        break;
      default:
        break;
    }
  }

  // The read position follows what the reader has on screen, so live posts do not stay
  // unread on the cohort page. Sent at most once a second, and only while the tab is visible.
  var newestSeen = 0;
  var readTimer = null;
  function markRead(postId) {
    newestSeen = Math.max(newestSeen, postId);
    if (readTimer || document.visibilityState !== 'visible') return;
    readTimer = setTimeout(function () {
      readTimer = null;
      fetch('/api/v1/threads/' + threadId + '/read', {
        method: 'PUT',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ last_read_post_id: newestSeen }),
      }).catch(function () {
        // The next post or the next visit moves it; nothing to tell the reader.
      });
    }, 1000);
  }
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && newestSeen) markRead(newestSeen);
  });

  function onEvent(event) {
    if (event.thread_id !== threadId) return;
    switch (event.kind) {
      case 'post_created':
        if (event.post) {
          showPost(event.post, true);
          markRead(event.post.id);
        }
        break;
      case 'post_edited':
      case 'post_deleted':
      case 'post_hidden':
      case 'post_restored':
      case 'reactions_changed':
        if (event.post) showPost(event.post, false);
        break;
      case 'thread_updated':
        showThread(event.thread);
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Reactions go through the API, so the page stays where it is; the change comes back as an
  // event for everyone. Without the script they are ordinary forms.

  function showActionError(message) {
    actionError.textContent = message;
    actionError.hidden = !message;
  }

  posts.addEventListener('submit', function (submit) {
    var form = submit.target;
    var button = submit.submitter;
    if (!form.classList.contains('reaction-form') || !button || !window.fetch) return;
    submit.preventDefault();
    var item = form.closest('.post');
    var postId = Number(item.dataset.postId);
    fetch('/api/v1/posts/' + postId + '/reactions/' + encodeURIComponent(button.value), {
      method: button.name === 'remove' ? 'DELETE' : 'PUT',
      credentials: 'same-origin',
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.detail || '');
          showActionError('');
          showPost(body, false);
          var again = document.querySelector('#post-' + postId + ' button[value="' + button.value + '"]');
          if (again) again.focus();
        });
      })
      .catch(function (error) {
        showActionError(error.message);
      });
  });

  // ---------------------------------------------------------------------------------------
  // The reply form: sent over the socket when it is open, as an ordinary form otherwise.

  var submitButton = form ? form.querySelector('button[type="submit"]') : null;
  function setSending(sending) {
    if (submitButton) submitButton.setAttribute('aria-disabled', sending ? 'true' : 'false');
  }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  if (form && textarea) {
    form.addEventListener('submit', function (submit) {
      if (!open) return; // no socket: the browser sends the form
      submit.preventDefault();
      if (pending) return; // one reply at a time; it is re-sent after a reconnect
      var body = textarea.value;
      if (!body.trim()) {
        showError(textarea.validationMessage || '');
        textarea.focus();
        return;
      }
      pending = { type: 'post', thread_id: threadId, body: body, client_id: newClientId() };
      showError('');
      setSending(true);
      send(pending);
    });

    var lastTyping = 0;
    textarea.addEventListener('input', function () {
      var now = Date.now();
      if (open && now - lastTyping >= 3000) {
        lastTyping = now;
        send({ type: 'typing', thread_id: threadId });
      }
    });
  }

  connect();
})();
