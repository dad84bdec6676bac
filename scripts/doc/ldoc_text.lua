-- scripts/doc/ldoc_text.lua: the formatter LDoc applies to mxlua's doc comments (scripts/doc/config.ld's
-- format): plain text shown as written (its <, > and & escaped, not read as HTML), `code`
-- set as code, and a blank comment line as a new paragraph.
return function(text)
  local html = text:gsub('&', '&amp;'):gsub('<', '&lt;'):gsub('>', '&gt;')
  html = html:gsub('`([^`\n]+)`', '<code>%1</code>')
  return (html:gsub('\n%s*\n', '\n<p>'))
end
