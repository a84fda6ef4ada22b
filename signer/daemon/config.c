#include "signer/daemon/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

const char *config_strerror(int status)
{
	switch (status) {
	case CONFIG_OK:
		return "success";
	case CONFIG_ERR_NOMEM:
		return "out of memory";
	case CONFIG_ERR_IO:
		return "configuration file cannot be read";
	case CONFIG_ERR_SYNTAX:
		return "configuration syntax error";
	case CONFIG_ERR_VALUE:
		return "configuration value refused";
	default:
		return "unknown config status";
	}
}

typedef struct {
	const char *path;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
} loader_t;

__attribute__((format(printf, 4, 5))) static int fail(loader_t *l, const yaml_node_t *node,
                                                      int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%lu: %s", l->path,
	         node != NULL ? (unsigned long)node->start_mark.line + 1 : 0ul, msg);
	return status;
}

static const char *scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_string(loader_t *l, yaml_node_t *v, const char *key, const char **out)
{
	const char *s = scalar(v);
	if (s == NULL || *s == '\0') {
		return fail(l, v, CONFIG_ERR_VALUE, "%s must be a non-empty string", key);
	}
	*out = s;
	return CONFIG_OK;
}

static int get_uint(loader_t *l, yaml_node_t *v, const char *key, unsigned max, unsigned *out)
{
	const char *s = scalar(v);
	char *end = NULL;
	errno = 0;
	unsigned long n = s != NULL ? strtoul(s, &end, 10) : 0;
	if (s == NULL || *s == '\0' || *end != '\0' || errno != 0 || n > max || *s == '-') {
		return fail(l, v, CONFIG_ERR_VALUE, "%s must be a non-negative integer", key);
	}
	*out = (unsigned)n;
	return CONFIG_OK;
}

static int get_bool(loader_t *l, yaml_node_t *v, const char *key, bool *out)
{
	const char *s = scalar(v);
	if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)) {
		*out = true;
	} else if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)) {
		*out = false;
	} else {
		return fail(l, v, CONFIG_ERR_VALUE, "%s must be true or false", key);
	}
	return CONFIG_OK;
}

static int load_token(loader_t *l, yaml_node_t *node, hsm_token_config_t *t)
{
	if (node->type != YAML_MAPPING_NODE) {
		return fail(l, node, CONFIG_ERR_SYNTAX, "%s", "a token must be a mapping");
	}
	int ret = CONFIG_OK;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(k);
		if (key == NULL) {
			ret = fail(l, k, CONFIG_ERR_SYNTAX, "%s", "keys must be strings");
		} else if (strcmp(key, "name") == 0) {
			ret = get_string(l, v, key, &t->name);
		} else if (strcmp(key, "module") == 0) {
			ret = get_string(l, v, key, &t->module);
		} else if (strcmp(key, "uri") == 0) {
			ret = get_string(l, v, key, &t->uri);
		} else if (strcmp(key, "pin_file") == 0) {
			ret = get_string(l, v, key, &t->pin_file);
		} else if (strcmp(key, "pin_env") == 0) {
			ret = get_string(l, v, key, &t->pin_env);
		} else if (strcmp(key, "pin") == 0) {
			ret = fail(l, k, CONFIG_ERR_VALUE, "%s",
			           "a PIN is never written in the configuration: use pin_file or "
			           "pin_env");
		} else if (strcmp(key, "max_sessions") == 0) {
			ret = get_uint(l, v, key, 4096, &t->max_sessions);
		} else if (strcmp(key, "combined_mechanisms") == 0) {
			ret = get_bool(l, v, key, &t->combined_mech);
		} else if (strcmp(key, "retry_budget") == 0) {
			unsigned s = 0;
			ret = get_uint(l, v, key, 86400, &s);
			t->retry_budget_ms = s * 1000;
		} else {
			ret = fail(l, k, CONFIG_ERR_VALUE, "unknown token key '%s'", key);
		}
	}
	if (ret == CONFIG_OK && (t->name == NULL || t->module == NULL || t->uri == NULL)) {
		ret = fail(l, node, CONFIG_ERR_VALUE, "%s", "a token needs name, module and uri");
	}
	if (ret == CONFIG_OK && t->pin_file != NULL && t->pin_env != NULL) {
		ret = fail(l, node, CONFIG_ERR_VALUE, "%s", "give pin_file or pin_env, not both");
	}
	return ret;
}

/* The document's strings stay in the loaded document: config_t keeps it. */
struct config_doc {
	config_t config;
	yaml_document_t doc;
};

int config_load(const char *path, config_t **out, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CONFIG_ERR_IO;
	}
	struct config_doc *cd = calloc(1, sizeof(*cd));
	if (cd == NULL) {
		fclose(fp);
		return CONFIG_ERR_NOMEM;
	}
	yaml_parser_t parser;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	int ok = yaml_parser_load(&parser, &cd->doc);
	if (!ok) {
		snprintf(err, errlen, "%s:%lu: %s", path,
		         (unsigned long)parser.problem_mark.line + 1,
		         parser.problem ? parser.problem : "YAML syntax error");
		yaml_parser_delete(&parser);
		fclose(fp);
		free(cd);
		return CONFIG_ERR_SYNTAX;
	}
	yaml_parser_delete(&parser);
	fclose(fp);

	loader_t l = {path, &cd->doc, err, errlen};
	int ret = CONFIG_OK;
	yaml_node_t *root = yaml_document_get_root_node(&cd->doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		ret = fail(&l, root, CONFIG_ERR_SYNTAX, "%s",
		           "the configuration must be a mapping");
		goto done;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top && ret == CONFIG_OK; p++) {
		yaml_node_t *k = yaml_document_get_node(&cd->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&cd->doc, p->value);
		const char *key = scalar(k);
		if (key == NULL || strcmp(key, "tokens") != 0) {
			ret = fail(&l, k, CONFIG_ERR_VALUE, "unknown key '%s'", key ? key : "?");
			break;
		}
		if (v->type != YAML_SEQUENCE_NODE) {
			ret = fail(&l, v, CONFIG_ERR_SYNTAX, "%s", "tokens must be a list");
			break;
		}
		size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		cd->config.tokens = calloc(n + 1, sizeof(*cd->config.tokens));
		if (cd->config.tokens == NULL) {
			ret = CONFIG_ERR_NOMEM;
			break;
		}
		for (size_t i = 0; i < n && ret == CONFIG_OK; i++) {
			yaml_node_t *item =
			        yaml_document_get_node(&cd->doc, v->data.sequence.items.start[i]);
			ret = load_token(&l, item, &cd->config.tokens[i]);
			cd->config.ntokens++;
		}
	}
	if (ret == CONFIG_OK && cd->config.ntokens == 0) {
		ret = fail(&l, root, CONFIG_ERR_VALUE, "%s", "no tokens configured");
	}
done:
	if (ret != CONFIG_OK) {
		config_free(&cd->config);
		return ret;
	}
	*out = &cd->config;
	return CONFIG_OK;
}

void config_free(config_t *config)
{
	if (config == NULL) {
		return;
	}
	struct config_doc *cd = (struct config_doc *)config;
	free(cd->config.tokens);
	yaml_document_delete(&cd->doc);
	free(cd);
}
