// The demo chat: the product document's `useShowChat` hook, without React.
//
// State (messages, active users, connected, typing users) lives in one object; every socket
// event updates it and re-renders the part it changed. Messages are kept by id, so history
// and live messages never show twice. Text is always inserted as text, never as HTML.
// Moderation (docs/moderation.md): a delete button on one's own messages; a moderator (found
// out once after login from GET /api/shows/{id}/moderation/state, which answers 403 to
// everyone else) also gets delete, time-out and ban buttons on every message and a slow-mode
// selector. Deleted messages leave every window live (`message_deleted`).
(function () {
  'use strict';

  var TYPING_IDLE_MS = 2000; // stop the typing indicator 2 s after the last keystroke
  var TYPING_STALE_MS = 6000; // forget someone's "typing" if their stop never arrives
  var MAX_ACTIVITY = 4;
  var TIMEOUT_SECONDS = 60; // the "time out" button's length
  var BUNDLE_MISSING = 'The Socket.IO client bundle (vendor/socket.io.min.js) is missing: ' +
    'run ./scripts/build-demo (needs Node.js 20+), then reload this page.';

  var params = new URLSearchParams(window.location.search);
  var API = (params.get('api') || window.location.origin).replace(/\/+$/, '');
  var SHOW_ID = parseInt(params.get('show') || '1', 10);

  var state = {
    me: null, // {user_id, username}
    connected: false,
    messages: new Map(), // id -> message
    lastMessageId: null,
    activeUsers: [],
    activeCount: 0,
    typingUsers: new Map(), // username -> timer that forgets a stale indicator
    isAdmin: false,
    isModerator: false, // a moderator of this show, or an admin
    moderationChecked: false, // the moderation state route has answered
    slowModeSeconds: 0,
    bans: new Map(), // user_id -> username: the show's bans, as this moderator knows them
  };
  var socket = null;
  var typingSent = false;
  var typingTimer = null;

  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    status: $('status'), login: $('login'), loginForm: $('login-form'), username: $('username'),
    loginButton: $('login-button'), loginError: $('login-error'), chat: $('chat'),
    activeCount: $('active-count'), activeUsers: $('active-users'), activity: $('activity'),
    showTitle: $('show-title'), me: $('me'), leave: $('leave'), messages: $('messages'),
    typing: $('typing'), chatError: $('chat-error'), composer: $('composer'),
    input: $('message-input'), send: $('send'), showId: $('show-id'), notify: $('notify'),
    admin: $('admin'), moderation: $('moderation'), slowMode: $('slow-mode'), notice: $('notice'),
    bans: $('bans'), bannedUsers: $('banned-users'),
  };

  // ------------------------------------------------------------------ rendering

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setStatus(stateName, text) {
    ui.status.dataset.state = stateName;
    ui.status.textContent = text;
    ui.status.className = 'status ' + stateName;
  }

  function showError(node, text) {
    node.textContent = text || '';
    node.hidden = !text;
  }

  // "Timed out: until 21:40:02 (retry in 58 s)": an error body as one line.
  function errorText(error) {
    if (!error) return 'failed';
    var text = error.message || 'Error';
    if (error.details) text += ': ' + error.details;
    if (typeof error.retry_after_ms === 'number') {
      text += ' (retry in ' + Math.ceil(error.retry_after_ms / 1000) + ' s)';
    }
    return text;
  }

  function clockOf(iso) {
    var date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleTimeString([], { hour12: false });
  }

  function timeOf(iso) {
    var date = new Date(iso);
    return isNaN(date) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function renderMessages() {
    var atBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 40;
    var sorted = Array.from(state.messages.values()).sort(function (a, b) { return a.id - b.id; });
    var items = sorted.map(function (message) {
      var mine = state.me && message.user_id === state.me.user_id;
      var item = el('li', 'message' + (mine ? ' mine' : ''));
      item.dataset.id = String(message.id);
      item.dataset.userId = String(message.user_id);
      var meta = el('div', 'meta');
      meta.appendChild(el('span', 'username', message.username));
      var time = el('time', 'time', timeOf(message.created_at));
      time.dateTime = message.created_at;
      meta.appendChild(time);
      item.appendChild(meta);
      item.appendChild(el('div', 'text', message.message));
      var actions = messageActions(message, mine);
      if (actions) item.appendChild(actions);
      return item;
    });
    if (items.length === 0) items.push(el('li', 'empty', 'No messages yet. Say hello!'));
    ui.messages.replaceChildren.apply(ui.messages, items);
    if (atBottom || sorted.length && state.me && sorted[sorted.length - 1].user_id === state.me.user_id) {
      ui.messages.scrollTop = ui.messages.scrollHeight;
    }
  }

  function actionButton(action, label, title) {
    var button = el('button', 'action ' + action, label);
    button.type = 'button';
    button.dataset.action = action;
    button.title = title;
    return button;
  }

  // Delete on one's own messages (the server allows it for DELETE_OWN_SECONDS); a moderator
  // gets it on every message, and time-out and ban for other people's.
  function messageActions(message, mine) {
    if (!mine && !state.isModerator) return null;
    var actions = el('div', 'actions');
    actions.appendChild(actionButton('delete', 'Delete', 'Delete this message for everyone'));
    if (state.isModerator && !mine) {
      actions.appendChild(actionButton('timeout', 'Time out ' + TIMEOUT_SECONDS + ' s',
        'Stop ' + message.username + ' sending for ' + TIMEOUT_SECONDS + ' seconds'));
      actions.appendChild(actionButton('ban', 'Ban', 'Remove ' + message.username
        + ' from this show'));
      actions.appendChild(actionButton('ban-purge', 'Ban + purge', 'Ban ' + message.username
        + ' and delete their messages of the last 24 hours'));
    }
    return actions;
  }

  function renderModeration() {
    ui.moderation.hidden = !state.isModerator;
    ui.slowMode.value = String(state.slowModeSeconds);
    if (ui.slowMode.value !== String(state.slowModeSeconds)) {
      // A value set elsewhere (another client, the API): list it so the selector shows it.
      var option = el('option', '', state.slowModeSeconds + ' s');
      option.value = String(state.slowModeSeconds);
      ui.slowMode.appendChild(option);
      ui.slowMode.value = option.value;
    }
  }

  // The bans this page knows (the state route's at login, then its own): each with Unban.
  // Bans by other moderators meanwhile show after a reload: nothing announces them.
  function renderBans() {
    var items = Array.from(state.bans.entries()).map(function (entry) {
      var item = el('li', '', entry[1]);
      item.dataset.userId = String(entry[0]);
      var button = el('button', 'action unban', 'Unban');
      button.type = 'button';
      button.dataset.action = 'unban';
      item.appendChild(button);
      return item;
    });
    ui.bannedUsers.replaceChildren.apply(ui.bannedUsers, items);
    ui.bans.hidden = !state.isModerator || items.length === 0;
  }

  function showNotice(text) {
    ui.notice.textContent = text;
    ui.notice.hidden = !text;
  }

  function renderActiveUsers() {
    var seen = new Set();
    var items = [];
    state.activeUsers.forEach(function (user) {
      if (seen.has(user.user_id)) return; // one line per user, however many tabs
      seen.add(user.user_id);
      var me = state.me && user.user_id === state.me.user_id;
      var item = el('li', me ? 'me' : '', user.username);
      item.dataset.userId = String(user.user_id);
      if (me) item.appendChild(el('span', 'muted', ' (you)'));
      items.push(item);
    });
    ui.activeUsers.replaceChildren.apply(ui.activeUsers, items);
    ui.activeCount.textContent = String(Math.max(state.activeCount, items.length));
  }

  function renderTyping() {
    var names = Array.from(state.typingUsers.keys());
    ui.typing.textContent = names.length === 0 ? ''
      : names.join(', ') + (names.length > 1 ? ' are' : ' is') + ' typing…';
    ui.typing.dataset.users = names.join(',');
  }

  function renderComposer() {
    ui.input.disabled = !state.connected;
    ui.send.disabled = !state.connected || !ui.input.value.trim();
  }

  function addActivity(text) {
    var item = el('li', '', text);
    ui.activity.insertBefore(item, ui.activity.firstChild);
    while (ui.activity.children.length > MAX_ACTIVITY) ui.activity.removeChild(ui.activity.lastChild);
  }

  // ------------------------------------------------------------------ state changes

  function addMessages(messages) {
    messages.forEach(function (message) {
      state.messages.set(message.id, message); // by id: a message arrives once on screen
      if (state.lastMessageId === null || message.id > state.lastMessageId) {
        state.lastMessageId = message.id;
      }
    });
    renderMessages();
  }

  function removeMessage(messageId) {
    if (state.messages.delete(messageId)) renderMessages();
  }

  function setSlowMode(seconds) {
    state.slowModeSeconds = seconds;
    renderModeration();
    showNotice(seconds > 0 ? 'Slow mode: one message every ' + seconds + ' s'
      + (state.isModerator ? ' (moderators are not slowed)' : '') : '');
  }

  function setActiveUsers(body) {
    if (!body || !Array.isArray(body.active_users)) return;
    state.activeUsers = body.active_users;
    state.activeCount = typeof body.count === 'number' ? body.count : body.active_users.length;
    renderActiveUsers();
  }

  function setTyping(username, isTyping) {
    var timer = state.typingUsers.get(username);
    if (timer) clearTimeout(timer);
    if (isTyping) {
      state.typingUsers.set(username, setTimeout(function () {
        state.typingUsers.delete(username);
        renderTyping();
      }, TYPING_STALE_MS));
    } else {
      state.typingUsers.delete(username);
    }
    renderTyping();
  }

  // ------------------------------------------------------------------ the socket

  function connect() {
    if (typeof io !== 'function') {
      setStatus('error', 'Socket.IO client missing');
      showError(ui.chatError, BUNDLE_MISSING);
      return;
    }
    socket = io(API, { withCredentials: true, transports: ['websocket', 'polling'] });
    setStatus('connecting', 'Connecting…');

    socket.on('connect', function () {
      state.connected = true;
      setStatus('connected', 'Connected');
      showError(ui.chatError, '');
      renderComposer();
      // Join (again, after a reconnect): resume after the last message seen, if any.
      var payload = { show_id: SHOW_ID };
      if (state.lastMessageId !== null) payload.last_message_id = state.lastMessageId;
      socket.emit('join_show', payload);
    });

    socket.on('disconnect', function (reason) {
      state.connected = false;
      state.typingUsers.forEach(function (timer) { clearTimeout(timer); });
      state.typingUsers.clear();
      renderTyping();
      renderComposer();
      if (reason === 'io client disconnect') setStatus('disconnected', 'Disconnected');
      else setStatus('reconnecting', 'Reconnecting…');
    });

    socket.on('connect_error', function (error) {
      state.connected = false;
      renderComposer();
      if (error && error.message === 'Unauthorized') {
        socket.disconnect(); // no point retrying with a refused cookie
        endChat('Please log in again (the server said: Unauthorized).');
        return;
      }
      setStatus('reconnecting', 'Cannot connect: ' + (error && error.message || 'error'));
    });

    socket.on('connected', function (data) {
      state.me = { user_id: data.user_id, username: data.username };
      ui.me.textContent = data.username;
    });

    socket.on('message_history', function (data) {
      // A history page older than what is shown (before_id) or a resume: merged by id.
      addMessages(data.messages || []);
    });

    socket.on('new_message', function (message) {
      addMessages([message]);
      if (message.username) setTyping(message.username, false);
    });

    socket.on('active_users', setActiveUsers);
    socket.on('user_joined', function (data) {
      setActiveUsers(data);
      addActivity(data.username + ' joined');
    });
    socket.on('user_left', function (data) {
      setActiveUsers(data);
      setTyping(data.username, false);
      addActivity(data.username + ' left');
    });

    socket.on('user_typing', function (data) {
      if (state.me && data.user_id === state.me.user_id) return;
      setTyping(data.username, data.is_typing);
    });

    socket.on('message_deleted', function (data) {
      if (data.show_id === SHOW_ID) removeMessage(data.message_id);
    });

    socket.on('user_timed_out', function (data) {
      if (data.show_id !== SHOW_ID) return;
      var lifted = new Date(data.until) <= new Date();
      var mine = state.me && data.user_id === state.me.user_id;
      addActivity(data.username + (lifted ? ' may send again' : ' timed out until '
        + clockOf(data.until)));
      if (mine) showNotice(lifted ? '' : 'You are timed out until ' + clockOf(data.until));
    });

    socket.on('slow_mode', function (data) {
      if (data.show_id === SHOW_ID) setSlowMode(data.seconds);
    });

    socket.on('banned', function (data) {
      if (data.show_id === SHOW_ID) stopBanned();
    });

    socket.on('error', function (error) {
      if (error && error.event === 'join_show' && error.message === 'Banned from show') {
        stopBanned();
        return;
      }
      showError(ui.chatError, errorText(error));
    });
  }

  // Banned: this page stops (no reconnecting into a room that refuses it) and says why.
  function stopBanned() {
    if (socket) {
      socket.disconnect();
      socket = null;
    }
    endChat('You were banned from show ' + SHOW_ID + '.');
  }

  // ------------------------------------------------------------------ moderation

  function moderate(event, payload, done) {
    if (!socket || !socket.connected) return;
    socket.timeout(10000).emit(event, Object.assign({ show_id: SHOW_ID }, payload),
      function (error, ack) {
        if (!error && ack && ack.ok) {
          showError(ui.chatError, '');
          if (done) done(ack);
        } else {
          showError(ui.chatError, event + ' refused (' + (error ? 'no answer from the server'
            : errorText(ack && ack.error)) + ')');
          renderModeration(); // the slow-mode selector back to the room's value
        }
      });
  }

  function handleMessageAction(event) {
    var button = event.target.closest('button[data-action]');
    if (!button) return;
    var item = button.closest('li.message');
    var message = state.messages.get(Number(item.dataset.id));
    if (!message) return;
    var action = button.dataset.action;
    if (action === 'delete') {
      moderate('delete_message', { message_id: message.id }, function () {
        removeMessage(message.id);
      });
    } else if (action === 'timeout') {
      moderate('timeout_user', { user_id: message.user_id, seconds: TIMEOUT_SECONDS });
    } else if (action === 'ban' || action === 'ban-purge') {
      moderate('ban_user', { user_id: message.user_id, purge: action === 'ban-purge' },
        function () {
          state.bans.set(message.user_id, message.username);
          renderBans();
        });
    }
  }

  function handleUnban(event) {
    var button = event.target.closest('button[data-action="unban"]');
    if (!button) return;
    var userId = Number(button.closest('li').dataset.userId);
    moderate('unban_user', { user_id: userId }, function () {
      state.bans.delete(userId);
      renderBans();
    });
  }

  // Whether this user moderates the show: the state route answers only moderators and admins.
  function checkModerator() {
    fetch(API + '/api/shows/' + SHOW_ID + '/moderation/state', { credentials: 'include' })
      .then(function (response) {
        if (!response.ok) return null; // 403: not a moderator (the usual case)
        return response.json();
      }).then(function (body) {
        state.isModerator = state.isAdmin || Boolean(body);
        state.moderationChecked = true;
        if (body) {
          setSlowMode(body.slow_mode_seconds || 0);
          (body.bans || []).forEach(function (ban) { state.bans.set(ban.user_id, ban.username); });
        }
        renderModeration();
        renderMessages();
        renderBans();
      }, function (error) {
        state.moderationChecked = true;
        showError(ui.chatError, 'Moderation state: ' + error.message);
      });
  }

  // Typing: "started" once when typing begins, "stopped" 2 s after the last keystroke
  // (or at once when the message is sent or the input emptied).
  function typingStopped() {
    if (typingTimer) clearTimeout(typingTimer);
    typingTimer = null;
    if (typingSent && socket && socket.connected) {
      socket.emit('typing', { show_id: SHOW_ID, is_typing: false });
    }
    typingSent = false;
  }

  function handleInputChange() {
    renderComposer();
    if (!socket || !socket.connected) return;
    if (!ui.input.value.trim()) {
      typingStopped();
      return;
    }
    if (!typingSent) {
      socket.emit('typing', { show_id: SHOW_ID, is_typing: true });
      typingSent = true;
    }
    if (typingTimer) clearTimeout(typingTimer);
    typingTimer = setTimeout(typingStopped, TYPING_IDLE_MS);
  }

  function sendMessage(event) {
    event.preventDefault();
    var text = ui.input.value.trim();
    if (!text || !socket || !socket.connected) return;
    typingStopped();
    ui.send.disabled = true;
    var clientMsgId = Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
    socket.timeout(10000).emit('send_message',
      { show_id: SHOW_ID, message: text, client_msg_id: clientMsgId },
      function (error, ack) {
        if (!error && ack && ack.ok) {
          if (ui.input.value.trim() === text) ui.input.value = '';
          addMessages([ack.message]); // the new_message may come first or after: same id
          showError(ui.chatError, '');
        } else {
          var reason = error ? 'no answer from the server' : errorText(ack && ack.error);
          showError(ui.chatError, 'Not sent (' + reason + ')');
        }
        renderComposer();
      });
  }

  function leave() {
    if (socket) {
      typingStopped();
      if (socket.connected) socket.emit('leave_show', { show_id: SHOW_ID });
      socket.disconnect();
      socket = null;
    }
    endChat('');
  }

  // ------------------------------------------------------------------ login

  function startChat(user) {
    state.me = { user_id: user.user_id, username: user.username };
    state.messages.clear();
    state.lastMessageId = null;
    state.activeUsers = [];
    state.activeCount = 0;
    state.isAdmin = user.is_admin === true;
    state.isModerator = state.isAdmin;
    state.slowModeSeconds = 0;
    state.moderationChecked = false;
    state.bans.clear();
    ui.me.textContent = user.username;
    ui.login.hidden = true;
    ui.chat.hidden = false;
    ui.activity.replaceChildren();
    renderMessages();
    renderActiveUsers();
    renderTyping();
    renderComposer();
    showNotice('');
    renderModeration();
    renderBans();
    checkModerator();
    connect();
    ui.input.focus();
  }

  function endChat(message) {
    state.connected = false;
    setStatus('disconnected', 'Disconnected');
    ui.chat.hidden = true;
    ui.login.hidden = false;
    showError(ui.loginError, message);
    renderComposer();
  }

  function login(event) {
    event.preventDefault();
    var username = ui.username.value.trim();
    if (!username) return;
    ui.loginButton.disabled = true;
    showError(ui.loginError, '');
    fetch(API + '/api/dev/login', {
      method: 'POST',
      credentials: 'include', // the server's Set-Cookie is stored for the API's origin
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(ui.admin.checked ? { username: username, admin: true }
        : { username: username }),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = body && body.error;
          throw new Error(error ? error.message + (error.details ? ': ' + error.details : '')
            : 'HTTP ' + response.status + (response.status === 404
              ? ' (is the server in development mode?)' : ''));
        }
        return body;
      });
    }).then(startChat, function (error) {
      showError(ui.loginError, 'Login failed: ' + error.message);
    }).then(function () {
      ui.loginButton.disabled = false;
    });
  }

  // ------------------------------------------------------------------ wiring

  Array.prototype.forEach.call(document.querySelectorAll('.api-base'), function (node) {
    node.textContent = API;
  });
  ui.showId.textContent = String(SHOW_ID);
  ui.showTitle.textContent = 'Show ' + SHOW_ID;
  ui.loginForm.addEventListener('submit', login);
  ui.composer.addEventListener('submit', sendMessage);
  ui.input.addEventListener('input', handleInputChange);
  ui.leave.addEventListener('click', leave);
  ui.messages.addEventListener('click', handleMessageAction);
  ui.bannedUsers.addEventListener('click', handleUnban);
  ui.slowMode.addEventListener('change', function () {
    var seconds = Number(ui.slowMode.value);
    moderate('set_slow_mode', { seconds: seconds });
  });

  // ------------------------------------------------------------------ push notifications

  // Web Push (docs/push.md): a service worker shows the server's notifications while the
  // page is closed; the subscription is stored with the same cookie as the chat.
  function base64UrlToBytes(text) {
    var padded = (text + '==='.slice((text.length + 3) % 4)).replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(padded), function (c) { return c.charCodeAt(0); });
  }

  function subscribeToPush() {
    ui.notify.disabled = true;
    Promise.all([
      navigator.serviceWorker.register('sw.js'),
      fetch(API + '/api/push/vapid_public_key', { credentials: 'include' })
        .then(function (response) {
          if (!response.ok) throw new Error('push is not configured on this server');
          return response.json();
        }),
    ]).then(function (results) {
      return results[0].pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: base64UrlToBytes(results[1].public_key),
      });
    }).then(function (subscription) {
      return fetch(API + '/api/push/subscriptions', {
        method: 'POST', credentials: 'include',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(subscription.toJSON()),
      });
    }).then(function (response) {
      if (!response.ok) throw new Error('the server refused the subscription');
      ui.notify.textContent = 'Notifications on';
    }).catch(function (error) {
      ui.notify.disabled = false;
      showError(ui.chatError, 'Notifications: ' + error.message);
    });
  }

  if ('serviceWorker' in navigator && 'PushManager' in window) {
    ui.notify.hidden = false;
    ui.notify.addEventListener('click', subscribeToPush);
  }
  window.addEventListener('pagehide', function () {
    if (socket && socket.connected) socket.emit('leave_show', { show_id: SHOW_ID });
  });
  if (typeof io !== 'function') {
    // Without the bundle the page could only stay Disconnected: say so before the login.
    setStatus('error', 'Socket.IO client missing');
    showError(ui.loginError, BUNDLE_MISSING);
    ui.loginButton.disabled = true;
  } else if (!Number.isInteger(SHOW_ID) || SHOW_ID < 1) {
    showError(ui.loginError, 'The show parameter must be a positive whole number.');
    ui.loginButton.disabled = true;
  }

  // For people poking at the demo from the console (and for the browser test).
  window.demoChat = {
    api: API,
    showId: SHOW_ID,
    state: state,
    transport: function () {
      return socket && socket.io.engine && socket.io.engine.transport
        ? socket.io.engine.transport.name : null;
    },
    socket: function () { return socket; },
  };
})();
