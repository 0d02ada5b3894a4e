// The landing page of a shared link (/app/_share#secret): the secret is in the fragment, which
// the browser never sends. Take it out of the address bar and history, then send it once in the
// body of a same-origin form POST, whose answer sets the pages' cookie and opens the site's page.
export function openSharedLink(form) {
  const secret = decodeURIComponent(location.hash.slice(1));
  history.replaceState(null, "", location.pathname);
  const status = document.getElementById("share-status");
  if (!secret) {
    if (status) status.textContent = "This link is incomplete: the part after # is missing. Copy the whole link.";
    return;
  }
  form.querySelector("#share-secret").value = secret;
  form.submit();
}
