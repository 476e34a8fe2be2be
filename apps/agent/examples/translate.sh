#!/bin/sh
# A tiny deterministic "translator" for the job quickstart (an exec: processor of 2020117-agent).
# It translates each English word of stdin that it knows into the language of the job's `lang`
# param (fr, es or de) and leaves every other word as it is. The exec processor hands it the
# param in JOB_REQUEST, for example {"kind":5302,"input_type":"text","params":{"lang":"fr"}}.
# A missing or unknown lang fails the job (exit 2, a reason on stderr), as a real processor would.
set -eu

lang=$(printf '%s' "${JOB_REQUEST:-}" | sed -n 's/.*"lang":"\([A-Za-z-]*\)".*/\1/p')
case "$lang" in
  fr) words='bonjour monde bon matin nuit merci chat chien oui non ami eau' ;;
  es) words='hola mundo buen mañana noche gracias gato perro sí no amigo agua' ;;
  de) words='hallo Welt gut Morgen Nacht danke Katze Hund ja nein Freund Wasser' ;;
  '')
    echo 'translate.sh: the job has no lang param: add ["param", "lang", "fr"] (fr, es or de)' >&2
    exit 2
    ;;
  *)
    echo "translate.sh: unknown lang \"$lang\": use fr, es or de" >&2
    exit 2
    ;;
esac

exec awk -v words="$words" '
BEGIN {
  n = split("hello world good morning night thanks cat dog yes no friend water", en, " ")
  split(words, to, " ")
  for (i = 1; i <= n; i++) table[en[i]] = to[i]
}
{
  for (i = 1; i <= NF; i++) {
    word = tolower($i)
    tail = ""
    if (match(word, /[^a-z]+$/)) {
      tail = substr(word, RSTART)
      word = substr(word, 1, RSTART - 1)
    }
    if (word in table) $i = table[word] tail
  }
  print
}'
