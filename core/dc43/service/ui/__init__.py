"""The service's web pages (service side): server-rendered HTML, a stylesheet and a small script,
all shipped with dc43 (no CDN, nothing downloaded at run time)."""
