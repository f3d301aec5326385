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
  // What the page shows is rendered by the server: a post and the thread's markers as
  // <template>s from the same partials as the page, and the live texts.
  var postTemplate = document.getElementById('post-template').content;
  var badgesTemplate = document.getElementById('thread-badges-template').content;
  var texts = document.getElementById('thread-texts').content;
  // The opening post is the question: it cannot be marked as its own answer.
  var firstPostId = posts.firstElementChild ? Number(posts.firstElementChild.dataset.postId) : null;

  function each(list, action) {
    Array.prototype.forEach.call(list, action);
  }

  /** `text` with its `{name}` slots filled in from `values`; other braces are left alone. */
  function fillText(text, values) {
    return text.replace(/\{(\w+)\}/g, function (slot, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : slot;
    });
  }

  /** One of the page's live texts (#thread-texts), with its slots filled in. */
  function t(name, values) {
    var node = texts.querySelector('[data-text="' + name + '"]');
    return node ? fillText(node.textContent, values || {}) : '';
  }

  // A counted text by the page language's CLDR plural rules: `name.one`, `name.other`, ….
  var pluralRules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(document.documentElement.lang || 'nb') : null;
  function plural(name, count) {
    var category = pluralRules ? pluralRules.select(count) : 'other';
    var node = texts.querySelector('[data-text="' + name + '.' + category + '"]') ? category : 'other';
    return t(name + '.' + node, { count: count });
  }

  // ---------------------------------------------------------------------------------------
  // Rendering: a copy of a server-rendered <template>, filled in. Values go into attributes
  // and text only; the post body is the one piece of HTML, sanitised by the server.

  /** A copy of the element `selector` picks from a template, ready to be filled in. */
  function copy(template, selector) {
    var node = document.importNode(template.querySelector(selector), true);
    node.removeAttribute('data-slot');
    return node;
  }

  /** Fills the `{name}` slots in the attributes and texts of `node` and all inside it. */
  function fillSlots(node, values) {
    var walker = document.createTreeWalker(node, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (var current = walker.currentNode; current; current = walker.nextNode()) {
      if (current.nodeType === Node.TEXT_NODE) {
        current.nodeValue = fillText(current.nodeValue, values);
        continue;
      }
      each(current.attributes, function (attribute) {
        var filled = fillText(attribute.value, values);
        if (filled !== attribute.value) attribute.value = filled;
      });
    }
  }

  /**
   * Removes an optional part with the separator just before it (a line break, " · " or " "),
   * as the server leaves both out.
   */
  function dropPart(part) {
    var before = part.previousSibling;
    if (before && before.nodeType === Node.TEXT_NODE) {
      before.nodeValue = before.nodeValue.replace(/[\s·]+$/, '');
      if (!before.nodeValue) before.remove();
    }
    part.remove();
  }

  /** Keeps the optional parts (`data-slot`) inside `node` that `keep` names, and drops the rest. */
  function settleSlots(node, keep) {
    each(node.querySelectorAll('[data-slot]'), function (part) {
      if (keep[part.dataset.slot]) part.removeAttribute('data-slot');
      else dropPart(part);
    });
  }

  function givenReaction(post, code) {
    return (post.reactions || []).filter(function (reaction) {
      return reaction.reaction === code;
    })[0];
  }

  /** The reaction form's buttons: pressed for the reader's own reactions, with the counts. */
  function fillReactionButtons(reactionForm, post) {
    each(reactionForm.querySelectorAll('button.reaction'), function (button) {
      var given = givenReaction(post, button.value);
      var count = given ? given.count : 0;
      var mine = given ? given.user_ids.indexOf(userId) >= 0 : false;
      button.name = mine ? 'remove' : 'add';
      button.setAttribute('aria-pressed', mine ? 'true' : 'false');
      var shown = button.querySelector('.reaction-count');
      if (count > 0) {
        fillSlots(shown, { count: count });
        shown.removeAttribute('data-slot');
      } else {
        dropPart(shown);
      }
    });
  }

  /** The list of reactions given, in their order, for a reader who sees no form. */
  function fillReactionList(list, post) {
    var lines = Array.prototype.slice.call(list.querySelectorAll('[data-slot="reaction"]'));
    (post.reactions || []).forEach(function (reaction) {
      var line = lines.filter(function (candidate) {
        return candidate.dataset.reaction === reaction.reaction;
      })[0];
      if (!line) return;
      var shown = line.cloneNode(true);
      shown.removeAttribute('data-slot');
      shown.removeAttribute('data-reaction');
      fillSlots(shown, { count: reaction.count });
      list.appendChild(shown);
    });
    lines.forEach(function (line) {
      line.remove();
    });
  }

  /** `2027-03-29T09:00:00Z`, as the server writes `<time datetime>`. */
  function machineTime(date) {
    return date.toISOString().replace(/\.\d+Z$/, 'Z');
  }

  function renderPost(post) {
    var created = new Date(post.created_at);
    var item = copy(postTemplate, '.post');
    fillSlots(item, {
      post_id: post.id,
      // An erased author's name comes in Bokmål over the socket: shown in the page's language.
      author: post.author_erased ? t('former-participant') : post.author,
      datetime: machineTime(created),
      time: timeFormat.format(created),
    });
    var isAnswer = answeredPostId === post.id;
    var isOwn = post.author_id === userId;
    var shown = !post.deleted && !post.hidden;
    if (isAnswer) item.classList.add('post-answer');
    // body_html is sanitised on the server (the same HTML the page renders).
    if (shown) item.querySelector('.post-body').innerHTML = post.body_html;
    // The template has what this reader may do at all (no reaction form for someone who may
    // not write, no answer form for someone who may not mark it); the post decides the rest.
    var reactionForm = item.querySelector('.reaction-form');
    var withForm = !!reactionForm && shown;
    var withList = !withForm && !!post.reactions && post.reactions.length > 0;
    if (withForm) fillReactionButtons(reactionForm, post);
    if (withList) fillReactionList(item.querySelector('.reactions'), post);
    settleSlots(item, {
      edited: !!post.edited_at && shown,
      answer: isAnswer,
      deleted: post.deleted,
      hidden: post.hidden && !post.deleted,
      body: shown,
      'reaction-form': withForm,
      reactions: withList,
      actions: shown,
      'answer-form': post.id !== firstPostId,
      unmark: isAnswer,
      mark: !isAnswer,
      edit: isOwn,
      report: !isOwn,
    });
    return item;
  }

  function answerForm(postId) {
    var answer = copy(postTemplate, '.answer-form');
    fillSlots(answer, { post_id: postId });
    var isAnswer = answeredPostId === postId;
    settleSlots(answer, { unmark: isAnswer, mark: !isAnswer });
    return answer;
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
      announce(t('new-post', { name: post.author }));
    }
  }

  function setAnswer(postId) {
    answeredPostId = postId;
    each(posts.querySelectorAll('.badge-answer'), dropPart);
    each(posts.querySelectorAll('.post-answer'), function (item) {
      item.classList.remove('post-answer');
    });
    each(posts.querySelectorAll('.answer-form'), function (answer) {
      answer.replaceWith(answerForm(Number(answer.dataset.postId)));
    });
    if (postId === null) return;
    var item = document.getElementById('post-' + postId);
    var meta = document.getElementById('post-' + postId + '-meta');
    if (!item || !meta) return;
    item.classList.add('post-answer');
    meta.appendChild(document.createTextNode(' '));
    meta.appendChild(copy(postTemplate, '.badge-answer'));
  }

  function showThread(thread) {
    if (!thread || thread.id !== threadId) return;
    var answer = thread.answered_post_id === undefined ? null : thread.answered_post_id;
    var shown = document.importNode(badgesTemplate, true);
    settleSlots(shown, { pinned: !!thread.pinned, locked: !!thread.locked, answered: answer !== null });
    badges.textContent = '';
    badges.appendChild(shown);
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
    if (unlisted > 0) names.push(plural('here-more', unlisted));
    presenceEl.textContent = names.length ? t('here-now', { names: names.join(', ') }) : '';
    presenceEl.hidden = names.length === 0;
  }

  var typists = {};
  function showTyping() {
    var names = Object.keys(typists).map(function (id) {
      return typists[id].name;
    });
    typingEl.textContent = names
      .map(function (name) {
        return t('typing', { name: name });
      })
      .join(' ');
    typingEl.hidden = names.length === 0;
  }

  // Their post arrived: they are no longer writing it.
  function stoppedTyping(userId) {
    var key = String(userId);
    if (!typists[key]) return;
    clearTimeout(typists[key].timer);
    delete typists[key];
    showTyping();
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
    setStatus(attempt === 0 ? t('connecting') : t('reconnecting'), attempt === 0 ? 'connecting' : 'reconnecting');
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
        setStatus(t(event.code === 4401 ? 'signed-out' : 'access-removed'), 'ended');
        presenceEl.hidden = true;
        return;
      }
      retry();
    });
  }

  function retry() {
    var wait = delays[Math.min(attempt, delays.length - 1)];
    attempt += 1;
    setStatus(t('reconnecting'), 'reconnecting');
    presenceEl.hidden = true;
    setTimeout(connect, wait);
  }

  function receive(message) {
    switch (message.type) {
      case 'subscribed':
        if (message.cohort_id !== cohortId) return;
        attempt = 0;
        setStatus(t('connected'), 'connected');
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
          stoppedTyping(event.post.author_id);
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
