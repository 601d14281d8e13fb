// GraphiQL's first screen: it asks for the admin token before GraphiQL
// renders, checks it, then opens GraphiQL with the token in its headers, so
// the schema loads at once instead of failing with a 401 ("Error fetching
// schema"). The token stays in this page's memory: never in localStorage
// (shouldPersistHeaders is off), and a reload asks again.

const STYLE = `<style>
#keyrelay-token{max-width:34rem;margin:12vh auto;font:15px/1.5 system-ui,sans-serif;color:#1b1f24;padding:0 1rem}
#keyrelay-token h1{font-size:1.4rem;margin:0 0 .5rem}
#keyrelay-token input{width:100%;box-sizing:border-box;padding:.55rem;font:14px ui-monospace,monospace;margin:.5rem 0}
#keyrelay-token button{padding:.5rem 1rem;font-size:15px;cursor:pointer}
#keyrelay-token .error{color:#b3261e;min-height:1.5em}
</style>`;

/** Runs in the browser: `root` is GraphiQL's mount point, `opts` Yoga's GraphiQL options. */
const SCRIPT = `<script>
function keyrelayTokenScreen(root, opts) {
  const form = document.createElement('form');
  form.id = 'keyrelay-token';
  form.innerHTML = '<h1>keyrelay admin</h1>'
    + '<p>Paste the admin token to open GraphiQL. keyrelay printed it when it first started; if you set KEYRELAY_ADMIN_TOKEN, it is that value.</p>'
    + '<label for="keyrelay-token-input">Admin token</label>'
    + '<input id="keyrelay-token-input" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="kra_..." required autofocus>'
    + '<button type="submit">Open GraphiQL</button>'
    + '<p class="error" role="alert"></p>'
    + '<p><small>The token stays in this tab\\'s memory only; reloading the page asks for it again.</small></p>';
  root.replaceChildren(form);
  const error = form.querySelector('.error');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = form.elements.token.value.trim();
    error.textContent = '';
    let res = null;
    try {
      res = await fetch(opts.endpoint || location.pathname, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    } catch {}
    if (res === null) { error.textContent = 'keyrelay did not answer; is it still running?'; return; }
    if (res.status === 401) { error.textContent = 'keyrelay refused this token. Check it, or restart keyrelay with KEYRELAY_ADMIN_TOKEN set.'; return; }
    root.replaceChildren();
    YogaGraphiQL.renderYogaGraphiQL(root, Object.assign({}, opts, {
      headers: JSON.stringify({ Authorization: 'Bearer ' + token }, null, 2),
      shouldPersistHeaders: false,
    }));
  });
}
</script>`;

/** Puts the token screen in front of Yoga's GraphiQL page. */
export function withTokenScreen(html: string): string {
  // Yoga's call is swapped first: the screen's own script makes the same call once the token is in.
  return html
    .replace('YogaGraphiQL.renderYogaGraphiQL(root,', 'keyrelayTokenScreen(root,')
    .replace('</head>', `${STYLE}</head>`)
    .replace('<script src=', `${SCRIPT}<script src=`);
}
